"""A voice message recorded in the browser, made ready for operators: Ogg Opus, with its length.

Browsers record Opus in WebM (Chromium) or in Ogg (Firefox). Telegram shows a voice message only
for Ogg Opus, and an Ogg file tells how long it plays (a recorder's WebM does not), so a WebM
recording is repacked into Ogg here: the same Opus packets, nothing re-encoded (RFC 7845 for Ogg
Opus, the Matroska specification for WebM).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

OGG_MIME = "audio/ogg"
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"  # the EBML header
OGG_MAGIC = b"OggS"
RATE = 48_000  # Opus counts samples at 48 kHz whatever it was recorded at
PAGE_SAMPLES = RATE  # an Ogg page holds about a second of sound
_BOS, _EOS = 0x02, 0x04
_PAGE_HEADER = struct.Struct("<4sBBqIIIB")
_SERIAL = 0x4F4B4E4F
_TAGS = b"OpusTags" + struct.pack("<I", 4) + b"Okno" + struct.pack("<I", 0)

# Matroska elements that matter here; those in _OPENED are read into, whatever their size says
# (a recorder writes the segment and its clusters with an unknown size, as it cannot go back)
_SEGMENT, _TRACKS, _TRACK_ENTRY, _CLUSTER, _BLOCK_GROUP = 0x18538067, 0x1654AE6B, 0xAE, 0x1F43B675, 0xA0
_OPENED = frozenset({_SEGMENT, _TRACKS, _TRACK_ENTRY, _CLUSTER, _BLOCK_GROUP})
_TRACK_NUMBER, _CODEC_ID, _CODEC_PRIVATE = 0xD7, 0x86, 0x63A2
_BLOCKS = frozenset({0xA1, 0xA3})  # Block, SimpleBlock


class NotARecording(ValueError):
    """The bytes are not an Opus recording this module can read."""


@dataclass(frozen=True, slots=True)
class Recording:
    data: bytes  # Ogg Opus
    seconds: float


def audio_type(data: bytes) -> str | None:
    """ "audio/webm" or "audio/ogg" by the file's first bytes, not by what a browser claims."""
    if data.startswith(WEBM_MAGIC):
        return "audio/webm"
    return OGG_MIME if data.startswith(OGG_MAGIC) else None


def as_ogg(data: bytes) -> Recording:
    """The recording as Ogg Opus with its length; NotARecording if it is not an Opus recording."""
    try:
        ogg = data if data.startswith(OGG_MAGIC) else _ogg(*_webm_opus(data))
        return Recording(ogg, ogg_seconds(ogg))
    except (IndexError, struct.error) as exc:
        raise NotARecording(f"a damaged recording: {exc}") from exc


def ogg_seconds(data: bytes) -> float:
    """How long an Ogg Opus recording plays: its last granule position less the pre-skip."""
    at, serial, pre_skip, granule = 0, -1, 0, 0
    while at < len(data):
        magic, _, _, position, page_serial, _, crc, count = _PAGE_HEADER.unpack_from(data, at)
        body = at + _PAGE_HEADER.size + count
        end = body + sum(data[at + _PAGE_HEADER.size : body])
        if magic != OGG_MAGIC or end > len(data):
            raise NotARecording("not an Ogg page, or a page cut short")
        if ogg_crc(data[at : at + 22] + b"\0\0\0\0" + data[at + 26 : end]) != crc:
            raise NotARecording("a damaged Ogg page")
        if serial == -1:  # the first page holds the Opus header alone
            if data[body : body + 8] != b"OpusHead" or end - body < 19:
                raise NotARecording("not an Opus stream")
            serial, pre_skip = page_serial, struct.unpack_from("<H", data, body + 10)[0]
        elif page_serial != serial:
            raise NotARecording("more than one stream")
        if position != -1:  # -1: no packet ends on this page
            granule = max(granule, position)
        at = end
    seconds = (granule - pre_skip) / RATE
    if seconds <= 0:
        raise NotARecording("no sound in the recording")
    return seconds


def ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, most significant bit first, no inversion), computed
    through zlib's reflected CRC-32 over bit-reversed bytes, which is the same sum mirrored."""
    mirrored = zlib.crc32(page.translate(_REVERSED_BYTES), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{mirrored:032b}"[::-1], 2)


_REVERSED_BYTES = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


# Reading WebM


def _webm_opus(data: bytes) -> tuple[bytes, list[bytes]]:
    """The Opus header and packets of a WebM file's Opus track."""
    entries: list[dict[int, bytes]] = []
    blocks: list[bytes] = []
    for element, body in _elements(data):
        if element == _TRACK_ENTRY:
            entries.append({})
        elif element in (_TRACK_NUMBER, _CODEC_ID, _CODEC_PRIVATE) and entries:
            entries[-1][element] = body
        elif element in _BLOCKS:
            blocks.append(body)
    opus = [
        e for e in entries if e.get(_CODEC_ID) == b"A_OPUS" and e.get(_CODEC_PRIVATE, b"")[:8] == b"OpusHead"
    ]
    if not opus:
        raise NotARecording("no Opus track")
    track = int.from_bytes(opus[0].get(_TRACK_NUMBER, b"\x01"), "big")
    packets = []
    for block in blocks:
        number, at, _ = _number(block, 0, marker=False)
        if number != track:
            continue
        if block[at + 2] & 0x06:
            raise NotARecording("laced blocks")  # recorders write one packet a block
        if packet := block[at + 3 :]:  # after the track, a 16-bit timecode and the flags
            packets.append(packet)
    if not packets:
        raise NotARecording("no sound in the recording")
    return opus[0][_CODEC_PRIVATE], packets


def _elements(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The file's elements in order: an opened one is given with no body, its children follow."""
    at = 0
    while at < len(data):
        element, at, _ = _number(data, at, marker=True)
        size, at, unknown = _number(data, at, marker=False)
        if element in _OPENED:
            yield element, b""
            continue
        if unknown:
            raise NotARecording(f"element {element:#x} has no size")
        if at + size > len(data):
            return  # cut short at the end: what came before is kept
        yield element, data[at : at + size]
        at += size


def _number(data: bytes, at: int, marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-length number: its value, where the next thing starts, and whether it is
    the reserved «unknown» (all ones). An element id keeps its length marker."""
    first = data[at]
    if first == 0:
        raise NotARecording("not an EBML number")
    length = 9 - first.bit_length()
    if at + length > len(data):
        raise NotARecording("cut short")
    value = int.from_bytes(data[at : at + length], "big")
    if marker:
        return value, at + length, False
    value &= (1 << (7 * length)) - 1
    return value, at + length, value == (1 << (7 * length)) - 1


# Writing Ogg


def _ogg(head: bytes, packets: list[bytes]) -> bytes:
    """Ogg Opus: the header and the tags on pages of their own, then the sound, about a second a page."""
    pages = [_page([head], 0, 0, _BOS), _page([_TAGS], 0, 1, 0)]
    batch: list[bytes] = []
    granule = batch_samples = 0
    for packet in packets:
        if batch and (_segments([*batch, packet]) > 255 or batch_samples >= PAGE_SAMPLES):
            pages.append(_page(batch, granule, len(pages), 0))
            batch, batch_samples = [], 0
        samples = opus_samples(packet)
        batch.append(packet)
        granule += samples
        batch_samples += samples
    pages.append(_page(batch, granule, len(pages), _EOS))
    return b"".join(pages)


def opus_samples(packet: bytes) -> int:
    """How many 48 kHz samples an Opus packet holds, from its first byte (RFC 6716, 3.1)."""
    config, code = packet[0] >> 3, packet[0] & 0x03
    if config < 12:  # SILK: 10, 20, 40, 60 ms
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:  # hybrid: 10, 20 ms
        frame = (480, 960)[config % 2]
    else:  # CELT: 2.5, 5, 10, 20 ms
        frame = (120, 240, 480, 960)[config % 4]
    frames = 1 if code == 0 else 2 if code < 3 else packet[1] & 0x3F
    return frame * frames


def _segments(packets: list[bytes]) -> int:
    return sum(len(p) // 255 + 1 for p in packets)


def _page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    if len(lacing) > 255:
        raise NotARecording("an Opus packet too large for a page")
    header = _PAGE_HEADER.pack(OGG_MAGIC, 0, flags, granule, _SERIAL, sequence, 0, len(lacing))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", ogg_crc(page)) + page[26:]
