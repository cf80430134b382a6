"""Which packets a sampled decode must decode in full, which it may decode cheaply, and which it may drop.

Sampling keeps the first frame at or after each wanted time. A packet presented before that time (less a margin for
timestamp rounding) only matters as a reference for the frames after it, so the gate holds it back:

* when a keyframe presented before the wanted time arrives first, everything held is dropped undecoded and the
  decoder is drained and restarted at that keyframe, as a seek would do. Samples sparser than the keyframes thus
  skip whole GOPs without trusting the container's index or the demuxer's seek accuracy (demuxing every packet
  costs about 1 % of decoding it);
* otherwise the held packets are decoded once a packet at or after the wanted time arrives, with ``cheap`` set: the
  decoder may skip the ones no other frame references (AVDiscard NONREF).

Packets from the wanted time on are decoded in full, except where no sample can be: once a packet within ``margin``
after the wanted time has come (the sample is then that frame or an earlier one), the packets after that window and
before the next grid time (wanted + ``step``, the earliest the sampler can want next) are cheap too. The sampler
updates ``want`` only when its frame comes out of the decoder, a few packets later; until then the gate is merely
more careful than it needs to be. Sampled frames are thus exactly those of a full decode.
"""

from __future__ import annotations

from fractions import Fraction

import av

RESTART = None
"""Stands for "drain the decoder and start it afresh" in what ``admit`` returns."""
MAX_HELD_BYTES = 32 * 1024 * 1024
"""Held packets beyond this size are decoded (cheaply) rather than kept: memory stays bounded on any file."""


class PacketGate:
    """Decide, packet by packet in decode order, what to send to the decoder; ``want`` is updated by the sampler."""

    def __init__(self, time_base: Fraction, margin_s: float, step_s: float = 0.0) -> None:
        self.want: float | None = None
        """Stream time (s) of the next frame to keep; None while every frame is wanted."""
        self._time_base = float(time_base)
        self._margin = margin_s
        self._step = step_s
        self._covered: float | None = None  # the wanted time a packet within the margin after it has come for
        self._held: list[av.Packet] = []
        self._held_bytes = 0
        self._fed = False  # anything sent to the decoder since it (re)started
        self.dropped = 0
        """Packets never decoded (for tests and benches)."""

    def admit(self, packet: av.Packet) -> list[tuple[av.Packet | None, bool]]:
        """What to do now, in order: ``(packet, cheap)`` pairs to decode and RESTART entries (``(None, False)``)."""
        if packet.size == 0:  # the demuxer's end-of-stream flush packet: held packets are before any wanted frame
            self._drop()
            return [(packet, False)]
        if self.want is None or packet.pts is None:
            return [*self._release(), self._feed(packet, cheap=False)]
        t = packet.pts * self._time_base
        if t >= self.want - self._margin:
            return [*self._release(), self._feed(packet, cheap=self._between_samples(t))]
        out: list[tuple[av.Packet | None, bool]] = []
        if packet.is_keyframe:
            self._drop()
            if self._fed:
                out.append((RESTART, False))
                self._fed = False
        self._held.append(packet)
        self._held_bytes += packet.size
        if self._held_bytes > MAX_HELD_BYTES:
            out += self._release()
        return out

    def _between_samples(self, t: float) -> bool:
        """Whether a packet at ``t`` (not before the wanted time less the margin) cannot hold a sample."""
        want = self.want
        assert want is not None
        if t < want + self._margin:
            if t >= want:
                self._covered = want
            return False
        return self._covered == want and t < want + self._step - self._margin

    def _feed(self, packet: av.Packet, *, cheap: bool) -> tuple[av.Packet, bool]:
        self._fed = True
        return packet, cheap

    def _release(self) -> list[tuple[av.Packet | None, bool]]:
        out: list[tuple[av.Packet | None, bool]] = [self._feed(p, cheap=True) for p in self._held]
        self._held, self._held_bytes = [], 0
        return out

    def _drop(self) -> None:
        self.dropped += len(self._held)
        self._held, self._held_bytes = [], 0
