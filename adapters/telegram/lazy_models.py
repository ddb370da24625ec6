"""Import aiogram with its pydantic models built when first used rather than all at import.

aiogram's `types/__init__.py` ends by rebuilding every one of its ~300 models with a namespace of all
the types; each rebuild compiles a validator and a serializer. That costs about 90 MB and 1.7 s,
paid by every process with a Telegram token although it only ever meets a few dozen of the types.
Here the models are created with pydantic's `defer_build`, and that rebuild loop only records the
namespace, which every aiogram model is then given to resolve its names from. pydantic builds a
model the first time it validates or serializes one (the first update takes about 0.2 s more).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pydantic import BaseModel
from pydantic._internal import _config, _model_construction

logger = logging.getLogger(__name__)


def import_aiogram() -> None:
    """Import aiogram's types and methods with their models deferred; nothing if already imported."""
    if "aiogram" in sys.modules:
        return
    namespace: dict[str, Any] = {}
    rebuild = BaseModel.__dict__["model_rebuild"]

    def remember_namespace(cls: type[BaseModel], /, **kwargs: Any) -> bool | None:
        given = kwargs.get("_types_namespace")
        if given is None or cls.__pydantic_complete__ or not cls.__module__.startswith("aiogram."):
            return rebuild.__func__(cls, **kwargs)  # type: ignore[no-any-return]
        namespace.update(given)
        return None

    defaults = _config.config_defaults
    deferred_before = defaults.get("defer_build", False)
    defaults["defer_build"] = True
    BaseModel.model_rebuild = classmethod(remember_namespace)  # type: ignore[method-assign,assignment]
    try:
        import aiogram.methods  # noqa: PLC0415 - this import is what is being shaped
        import aiogram.types  # noqa: F401, PLC0415
    finally:
        defaults["defer_build"] = deferred_before
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
    deferred = _give_namespace(namespace)
    logger.debug("aiogram imported with %d models deferred", deferred)


def _give_namespace(namespace: dict[str, Any]) -> int:
    """Let every deferred aiogram model resolve the names its module imports only for type checking."""
    shared = _model_construction.build_lenient_weakvaluedict(namespace)
    deferred = 0
    for model in _subclasses(BaseModel):
        if model.__module__.startswith("aiogram.") and not model.__pydantic_complete__:
            own = _model_construction.unpack_lenient_weakvaluedict(model.__pydantic_parent_namespace__)
            merged = {**namespace, **own} if own else None
            model.__pydantic_parent_namespace__ = (
                _model_construction.build_lenient_weakvaluedict(merged) if merged else shared
            )
            deferred += 1
    return deferred


def _subclasses(root: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending = [root]
    while pending:
        for child in pending.pop().__subclasses__():
            if child not in found:
                found.add(child)
                pending.append(child)
    return found
