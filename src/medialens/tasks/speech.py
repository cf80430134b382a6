"""The ``transcribe`` task: speech to text with segment times, from an audio file or a video's sound track."""

from __future__ import annotations

from medialens.analyses.errors import UnprocessableError
from medialens.analyses.speech import MODEL, transcribe_audio
from medialens.media.audio import read_audio
from medialens.tasks.base import TaskContext, TaskInput
from medialens.tasks.intake import download_media
from medialens.tasks.options import TranscribeOptions
from medialens.tasks.results import TimedText, Transcript

SPEECH_MODELS = (MODEL,)


def transcribe(ctx: TaskContext, given: TaskInput, opts: TranscribeOptions) -> Transcript:
    path = download_media(ctx, given, "audio")
    ctx.report("audio decoding")
    audio = read_audio(path, max_seconds=ctx.settings.video_max_duration_s)
    ctx.report("transcribing 0%")
    try:
        tr = transcribe_audio(
            audio,
            ctx.settings,
            language=opts.language,
            translate=opts.translate,
            progress=lambda share: ctx.report(f"transcribing {min(99, int(share * 100))}%"),
        )
    except ValueError as err:  # a language code Whisper does not know
        raise UnprocessableError(str(err)) from err
    return Transcript(
        text=tr.text,
        language=tr.language,
        language_probability=tr.language_probability,
        segments=[TimedText(start=s.start, end=s.end, text=s.text) for s in tr.segments],
        duration_s=tr.duration_s,
        speech_s=tr.speech_s,
        method=f"{MODEL}+vad" + (":translate" if opts.translate else ""),
    )
