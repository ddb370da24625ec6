"""The Telegram channel on aiogram 3: receiving (polling, webhook), decoding and sending."""

from adapters.telegram.lazy_models import import_aiogram

import_aiogram()  # before any module of this package imports aiogram
