"""The packet gate's decisions, on stand-in packets (what to decode, cheaply or in full, and what to drop)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from medialens.media.gate import MAX_HELD_BYTES, RESTART, PacketGate


def _packet(t: float | None, *, key: bool = False, size: int = 100) -> SimpleNamespace:
    return SimpleNamespace(pts=None if t is None else round(t * 1000), is_keyframe=key, size=size)


def _gate(want: float | None) -> PacketGate:
    gate = PacketGate(Fraction(1, 1000), margin_s=0.05)
    gate.want = want
    return gate


def test_everything_is_decoded_in_full_until_a_time_is_wanted() -> None:
    gate = _gate(None)
    packets = [_packet(0.0, key=True), _packet(0.1), _packet(None)]
    assert [gate.admit(p) for p in packets] == [[(p, False)] for p in packets]


def test_packets_before_the_wanted_time_wait_and_are_decoded_cheaply() -> None:
    gate = _gate(1.0)
    early = [_packet(0.5), _packet(0.6), _packet(0.97)]  # 0.97 is inside the margin: decoded in full
    assert gate.admit(early[0]) == [] and gate.admit(early[1]) == []
    assert gate.admit(early[2]) == [(early[0], True), (early[1], True), (early[2], False)]
    assert gate.dropped == 0


def test_a_keyframe_before_the_wanted_time_drops_what_was_held_and_restarts_the_decoder() -> None:
    gate = _gate(None)
    gate.admit(_packet(0.0, key=True))  # fed: the decoder has state to drain
    gate.want = 5.0
    held = [_packet(0.1), _packet(0.2)]
    key, late = _packet(4.0, key=True), _packet(5.0)
    assert [gate.admit(p) for p in held] == [[], []]
    assert gate.admit(key) == [(RESTART, False)]
    assert gate.admit(late) == [(key, True), (late, False)]
    assert gate.dropped == 2
    gate.want = 9.0
    assert gate.admit(_packet(6.0, key=True)) == [(RESTART, False)]
    assert gate.admit(_packet(7.0, key=True)) == []  # nothing decoded since the last restart: none needed
    assert gate.dropped == 3


def test_the_end_of_stream_drops_what_was_held() -> None:
    gate = _gate(10.0)
    gate.admit(_packet(1.0))
    end = _packet(None, size=0)
    assert gate.admit(end) == [(end, False)]
    assert gate.dropped == 1


def test_held_packets_are_bounded() -> None:
    gate = _gate(10.0)
    big = [_packet(1.0, size=MAX_HELD_BYTES // 2 + 1), _packet(1.1, size=MAX_HELD_BYTES // 2 + 1)]
    assert gate.admit(big[0]) == []
    assert gate.admit(big[1]) == [(big[0], True), (big[1], True)]


def test_packets_between_a_sample_and_the_next_grid_time_are_cheap() -> None:
    gate = PacketGate(Fraction(1, 1000), margin_s=0.05, step_s=0.5)
    gate.want = 1.0
    before_cover = _packet(1.2)  # no packet at the wanted time yet: this one may be the sample
    cover, b_frame, between, next_grid = _packet(1.01), _packet(1.03), _packet(1.2), _packet(1.46)
    assert gate.admit(before_cover) == [(before_cover, False)]
    assert gate.admit(cover) == [(cover, False)]
    assert gate.admit(b_frame) == [(b_frame, False)]  # inside the margin: may still be the first at 1.0
    assert gate.admit(between) == [(between, True)]
    assert gate.admit(next_grid) == [(next_grid, False)]  # the sampler may want 1.5 next: decoded in full
    gate.want = 1.5  # the sampler moved on: nothing is covered for the new time yet
    late = _packet(1.6)
    assert gate.admit(late) == [(late, False)]
