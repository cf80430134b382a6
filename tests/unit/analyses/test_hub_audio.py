"""The Model Hub audio answers' text rules and windows (analyses/hub_audio.py)."""

from __future__ import annotations

from medialens.analyses import hub_audio


def test_vocabularies_are_gb2312_level_one_and_the_whole_set() -> None:
    general, ecommerce = hub_audio.vocabulary(False), hub_audio.vocabulary(True)
    assert len(general) == 3755 and len(ecommerce) == 6763 and general < ecommerce
    assert "的" in general and "宝" in general


def test_seed_text_is_simplified_split_into_sentences_and_masks_rare_hanzi() -> None:
    general, ecommerce = hub_audio.vocabulary(False), hub_audio.vocabulary(True)
    said = hub_audio.seed_text("大學生利用漏洞，目前工廠產量已下降超50%。", general)
    assert said == "大学生利用漏洞;目前工厂产量已下降超50%"
    # 鑫 is GB2312 level 2 (the e-commerce vocabulary only); 龘 is outside GB2312
    assert hub_audio.seed_text("三鑫龘", general) == "三**"
    assert hub_audio.seed_text("三鑫龘", ecommerce) == "三鑫*"
    assert hub_audio.seed_text("Hello world, OK", general) == "Hello;world;OK"


def test_windows_cover_the_audio_and_a_short_tail_joins_the_last() -> None:
    assert hub_audio.windows(8.0) == [(0.0, 8.0)]
    assert hub_audio.windows(61.4) == [(0.0, 20.0), (20.0, 40.0), (40.0, 61.4)]
    assert hub_audio.windows(45.0) == [(0.0, 20.0), (20.0, 40.0), (40.0, 45.0)]


def test_speaker_labels_are_the_chinese_words_and_the_method_names_the_model() -> None:
    assert hub_audio.speaker_label("male") == "男" and hub_audio.speaker_label("female") == "女"
    assert "inaSpeechSegmenter" in hub_audio.SPEAKER_METHOD and "VAD" in hub_audio.SPEAKER_METHOD
