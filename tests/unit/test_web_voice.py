"""A voice message recorded in the browser becomes Ogg Opus, which Telegram plays as a voice message."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from adapters.web.voice import NotARecording, as_ogg, audio_type, ogg_crc, ogg_seconds, opus_samples

# two seconds recorded by Chromium's MediaRecorder (audio/webm;codecs=opus) from its fake microphone
CHROMIUM = (Path(__file__).parents[1] / "data" / "voice" / "chromium.webm").read_bytes()
CLUSTER = b"\x1f\x43\xb6\x75"


def reference_crc(data: bytes) -> int:
    """Ogg's CRC-32 the slow, obvious way (polynomial 0x04C11DB7, MSB first, no inversion)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def pages(ogg: bytes) -> list[tuple[int, int, bytes]]:
    """(flags, granule position, the whole page) of every page."""
    found, at = [], 0
    while at < len(ogg):
        assert ogg[at : at + 4] == b"OggS"
        flags, granule = ogg[at + 5], struct.unpack_from("<q", ogg, at + 6)[0]
        count = ogg[at + 26]
        end = at + 27 + count + sum(ogg[at + 27 : at + 27 + count])
        found.append((flags, granule, ogg[at:end]))
        at = end
    return found


def longer(webm: bytes, times: int) -> bytes:
    """The recording with its clusters repeated: as a recorder writes a long one."""
    first = webm.index(CLUSTER)
    return webm[:first] + webm[first:] * times


def test_a_chromium_recording_becomes_ogg_opus_of_the_same_length() -> None:
    assert audio_type(CHROMIUM) == "audio/webm"
    recording = as_ogg(CHROMIUM)
    assert recording.seconds == pytest.approx(1.98, abs=0.01)
    found = pages(recording.data)
    assert found[0][2][28:36] == b"OpusHead" and found[0][0] == 0x02  # the stream's first page
    assert found[1][2][28:36] == b"OpusTags"
    assert found[-1][0] == 0x04  # and its last
    granules = [granule for _, granule, _ in found]
    assert granules[:2] == [0, 0] and granules[2:] == sorted(granules[2:]) and granules[-1] == 95_040
    for _, _, page in found:
        stored = struct.unpack_from("<I", page, 22)[0]
        assert stored == reference_crc(page[:22] + b"\0\0\0\0" + page[26:])


def test_an_ogg_recording_is_taken_as_it_is() -> None:
    ogg = as_ogg(CHROMIUM).data
    assert audio_type(ogg) == "audio/ogg"
    again = as_ogg(ogg)
    assert again.data == ogg and again.seconds == pytest.approx(1.98, abs=0.01)


def test_a_long_recording_says_how_long_it_is() -> None:
    recording = as_ogg(longer(CHROMIUM, 100))
    assert recording.seconds == pytest.approx(198, abs=1)  # over the three minutes operators take
    assert ogg_seconds(recording.data) == recording.seconds


def test_what_is_not_an_opus_recording_is_refused() -> None:
    assert audio_type(b"\x89PNG\r\n\x1a\n....") is None
    damaged = bytearray(as_ogg(CHROMIUM).data)
    damaged[200] ^= 0xFF
    no_clusters = CHROMIUM[: CHROMIUM.index(CLUSTER)]
    vorbis = CHROMIUM.replace(b"A_OPUS", b"A_VORB")
    for bad in (
        b"OggS" + b"\0" * 30,
        bytes(damaged),
        no_clusters,
        vorbis,
        CHROMIUM[:20],
        b"\x1a\x45\xdf\xa3",
    ):
        with pytest.raises(NotARecording):
            as_ogg(bad)


def test_opus_packets_are_counted_in_samples_and_the_crc_matches_the_slow_one() -> None:
    assert opus_samples(bytes([0xFB, 0x03])) == 3 * 960  # CELT 20 ms, three frames: Chromium's packets
    assert opus_samples(bytes([0x78])) == 960  # hybrid 20 ms, one frame
    assert opus_samples(bytes([0x19])) == 2 * 2880  # SILK 60 ms, two frames
    for data in (b"", b"OggS", bytes(range(256)) * 5):
        assert ogg_crc(data) == reference_crc(data)
