"""Model Hub audio services: Chinese ASR (general and e-commerce), Chinese speech detection, background music,
speech vectors (Chinese and English), speaker sex per speech segment.

All take an audio file or a video's sound track and ``play_duration`` (only that much from the start).
"""

from __future__ import annotations

from pydantic import Field

from medialens.analyses import hub_audio
from medialens.analyses.speech import MODEL as WHISPER
from medialens.analyses.speech import transcribe_audio
from medialens.media.audio import read_audio
from medialens.models.loader import get_pipeline
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec
from medialens.tasks.hub_video import VideoSpanOptions
from medialens.tasks.intake import download_media
from medialens.tasks.results import TaskResult, TimedText

RATE = hub_audio.SAMPLE_RATE
INA_MODEL = "ina-speech-segmenter"
MIN_SPEECH_S = 0.5
MIN_LANGUAGE_P = 0.7
"""Whisper's language probability needed to call a window Chinese (music the VAD lets through scores ~0.5)."""


class HubTranscript(TaskResult):
    segments: list[TimedText] = Field(
        description="Whisper's segments, text in the seed's form (';' between "
        "sentences, simplified, '*' outside the vocabulary)"
    )
    language: str
    duration_s: float
    method: str


class WindowCall(TaskResult):
    start: float
    end: float
    present: bool
    detail: str = Field(description="what the call rests on")


class WindowCalls(TaskResult):
    windows: list[WindowCall]
    duration_s: float
    method: str


def _audio(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions):
    path = download_media(ctx, given, "audio")
    ctx.report("audio decoding")
    limit = ctx.settings.video_max_duration_s
    if opts.play_duration_s is not None:
        limit = min(limit, opts.play_duration_s)
    return read_audio(path, sample_rate=RATE, max_seconds=limit)


def _asr(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions, *, ecommerce: bool) -> HubTranscript:
    audio = _audio(ctx, given, opts)
    ctx.report("transcribing")
    prompt = hub_audio.ECOMMERCE_PROMPT if ecommerce else None
    tr = transcribe_audio(audio, ctx.settings, language="zh", initial_prompt=prompt)
    vocab = hub_audio.vocabulary(level2=ecommerce)
    segments = [TimedText(start=s.start, end=s.end, text=hub_audio.seed_text(s.text, vocab)) for s in tr.segments]
    vocab_name = "GB2312 (6,763 hanzi)" if ecommerce else "GB2312 level 1 (3,755 hanzi)"
    method = f"{WHISPER}+vad, zh, zhconv zh-cn, {vocab_name}" + (", e-commerce prompt" if ecommerce else "")
    return HubTranscript(
        segments=[s for s in segments if s.text], language="zh", duration_s=tr.duration_s, method=method
    )


def asr_zh(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> HubTranscript:
    return _asr(ctx, given, opts, ecommerce=False)


def asr_zh_ecommerce(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> HubTranscript:
    return _asr(ctx, given, opts, ecommerce=True)


def speech_detection_zh(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> WindowCalls:
    """Per window: Chinese speech when the VAD keeps at least MIN_SPEECH_S of speech there and Whisper identifies
    its language as Chinese with at least MIN_LANGUAGE_P (no text is decoded)."""
    from medialens.models.pipelines.whisper import TranscriptionRequest

    audio = _audio(ctx, given, opts)
    whisper = get_pipeline(WHISPER, ctx.settings)
    calls = []
    for start, end in hub_audio.windows(audio.size / RATE):
        window = audio[round(start * RATE) : round(end * RATE)]
        tr = whisper.run_batch([TranscriptionRequest(window, detect_only=True)])[0]
        present = tr.speech_s >= MIN_SPEECH_S and tr.language == "zh" and tr.language_probability >= MIN_LANGUAGE_P
        detail = f"speech {tr.speech_s:.1f} s, language {tr.language} ({tr.language_probability:.2f})"
        calls.append(WindowCall(start=start, end=end, present=present, detail=detail))
    return WindowCalls(windows=calls, duration_s=audio.size / RATE, method=f"silero VAD + {WHISPER} language id")


def bgm_detection(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> WindowCalls:
    """Per window: music when inaSpeechSegmenter's speech/music CNN gives its sounding patches a mean music
    probability of at least MIN_MUSIC_PROBABILITY (a silent window: no music)."""
    from medialens.models.pipelines.ina_gender import SexRequest

    audio = _audio(ctx, given, opts)
    ctx.report("listening for music")
    spans = hub_audio.windows(audio.size / RATE)
    scored = get_pipeline(INA_MODEL, ctx.settings)(SexRequest(audio, spans, sex=False))
    calls = []
    for (start, end), c in zip(spans, scored, strict=True):
        music = 1.0 - c.speech_probability if c.patches else 0.0
        present = c.patches > 0 and music >= hub_audio.MIN_MUSIC_PROBABILITY
        detail = f"music {music:.3f} over {c.patches} sounding patches"
        calls.append(WindowCall(start=start, end=end, present=present, detail=detail))
    return WindowCalls(windows=calls, duration_s=audio.size / RATE, method=hub_audio.MUSIC_METHOD)


class VectorWindow(TaskResult):
    start: float
    end: float
    vector: list[float]


class SpeechVectors(TaskResult):
    windows: list[VectorWindow]
    duration_s: float
    method: str


def speech_vector(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> SpeechVectors:
    """Whisper base's encoder states, mean-pooled over each 30-s window (the same multilingual encoder serves the
    Chinese and the English service)."""
    from medialens.models.pipelines.whisper import TranscriptionRequest

    audio = _audio(ctx, given, opts)
    ctx.report("encoding")
    tr = get_pipeline(WHISPER, ctx.settings).run_batch([TranscriptionRequest(audio, encode_only=True)])[0]
    windows = [VectorWindow(start=w.start, end=w.end, vector=w.vector.tolist()) for w in tr.vectors]
    method = f"{WHISPER} encoder (multilingual), states mean-pooled per 30-s window"
    return SpeechVectors(windows=windows, duration_s=audio.size / RATE, method=method)


class SpeakerSegment(TaskResult):
    start: float
    end: float
    sex: str = Field(description="male or female")
    label: str = Field(description="the answer's class: 男 or 女")
    male_probability: float
    speech_probability: float = Field(description="the speech/music CNN's mean speech probability")


class SpeakerCalls(TaskResult):
    segments: list[SpeakerSegment]
    duration_s: float
    method: str




def speaker_classification_zh(ctx: TaskContext, given: TaskInput, opts: VideoSpanOptions) -> SpeakerCalls:
    """Speaker sex per speech segment: silero VAD segments, gated and called by inaSpeechSegmenter's CNNs."""
    from medialens.models.pipelines.ina_gender import SexRequest
    from medialens.models.pipelines.vad import VadOptions, speech_segments

    audio = _audio(ctx, given, opts)
    ctx.report("finding speech")
    vad_options = VadOptions(
        min_silence_ms=hub_audio.SPEAKER_MIN_SILENCE_MS, max_speech_s=hub_audio.SPEAKER_MAX_SEGMENT_S
    )
    spans = speech_segments(get_pipeline("silero-vad", ctx.settings).probabilities(audio), audio.size, vad_options)
    ctx.report("classifying speakers")
    calls = get_pipeline(INA_MODEL, ctx.settings)(SexRequest(audio, [(s.start_s, s.end_s) for s in spans]))
    segments = [
        SpeakerSegment(
            start=c.start,
            end=c.end,
            sex=c.sex,
            label=hub_audio.speaker_label(c.sex),
            male_probability=round(c.male_probability, 4),
            speech_probability=round(c.speech_probability, 4),
        )
        for c in calls
        if c.sex is not None and c.speech_probability >= hub_audio.MIN_SPEECH_PROBABILITY
    ]
    return SpeakerCalls(segments=segments, duration_s=audio.size / RATE, method=hub_audio.SPEAKER_METHOD)


_ASR = (WHISPER,)
HUB_AUDIO_SPECS = (
    TaskSpec("asr_zh", "audio", asr_zh, VideoSpanOptions, HubTranscript, _ASR, "Chinese ASR (Model Hub)", "video"),
    TaskSpec("asr_zh_ecommerce", "audio", asr_zh_ecommerce, VideoSpanOptions, HubTranscript, _ASR,
             "Chinese e-commerce ASR (Model Hub)", "video"),
    TaskSpec("speech_detection_zh", "audio", speech_detection_zh, VideoSpanOptions, WindowCalls, _ASR,
             "Chinese speech per window (Model Hub)", "video"),
    TaskSpec("speech_vector_zh", "audio", speech_vector, VideoSpanOptions, SpeechVectors, _ASR,
             "Chinese speech vectors (Model Hub)", "video"),
    TaskSpec("speech_vector_en", "audio", speech_vector, VideoSpanOptions, SpeechVectors, _ASR,
             "English speech vectors (Model Hub)", "video"),
    TaskSpec("bgm_detection", "audio", bgm_detection, VideoSpanOptions, WindowCalls, (INA_MODEL,),
             "background music per window (Model Hub)", "video"),
    TaskSpec("speaker_classification_zh", "audio", speaker_classification_zh, VideoSpanOptions, SpeakerCalls,
             ("silero-vad", INA_MODEL), "speaker sex per speech segment (Model Hub)", "video"),
)  # fmt: skip
