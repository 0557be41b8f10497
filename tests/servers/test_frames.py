"""The frames the direct frame writer writes, read back as a WebSocket client reads them."""

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from mmo.servers.backlog import text_frame


def parsed(encoded: bytes) -> Frame:
    """The one frame `encoded` holds, as a WebSocket client reads it."""
    reader = StreamReader()
    reader.feed_data(encoded)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        while True:
            next(parser)
    except StopIteration as done:
        frame = done.value
    assert reader.at_eof(), "bytes left over after the frame"
    return frame


# Each length encoding of RFC 6455 (7 bits, 16 bits, 64 bits) on both sides of
# its bounds, counted in bytes of UTF-8.
@pytest.mark.smoke
@pytest.mark.parametrize(
    "text",
    ["", "x", "x" * 125, "x" * 126, "x" * 65535, "x" * 65536, "x" * 200_000, "é" * 63, "é" * 64],
    ids=lambda text: f"{len(text.encode())} bytes",
)
def test_a_text_frame_reads_back_as_the_whole_message(text):
    frame = parsed(text_frame(text))

    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert frame.data.decode() == text
