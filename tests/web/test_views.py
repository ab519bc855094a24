"""What the pages show, without a server: visible control characters, chat bubbles."""

from __future__ import annotations

from langgraph_redis_saver.web._views import bubbles, pretty, visible


def test_visible_shows_control_and_bidi_characters_as_escapes() -> None:
    assert visible("a\x1b[31mb\x07c\u202ed\u2066e") == "a\\x1b[31mb\\x07c\\u202ed\\u2066e"
    assert visible("line\n\ttab ü 日本") == "line\n\ttab ü 日本"
    assert visible("\x9b\x7f") == "\\x9b\\x7f"


def test_pretty_is_indented_json_made_visible() -> None:
    assert pretty({"b": "\x1b", "a": 1}) == '{\n  "a": 1,\n  "b": "\\u001b"\n}'
    assert pretty("plain \x1b") == "plain \\x1b"


def test_bubbles_fold_tool_results_into_their_calls() -> None:
    turns = [
        {"index": 0, "role": "user", "content": "hi"},
        {
            "index": 1,
            "role": "assistant",
            "content": "",
            "toolCalls": [{"id": "c1", "name": "search", "args": {}}, {"id": "c2", "name": "x"}],
        },
        {"index": 2, "role": "tool", "content": "found", "toolCallId": "c1"},
        {"index": 3, "role": "tool", "content": "orphan", "toolCallId": "zz"},
    ]
    shown = bubbles(turns)
    assert [b.turn["index"] for b in shown] == [0, 1, 3]
    calls = shown[1].calls
    assert calls[0]["result"]["content"] == "found"
    assert calls[1]["result"] is None


def test_bubbles_show_images_as_placeholders_and_never_their_address() -> None:
    blocks = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "javascript:alert(1)"}},
        {"type": "image", "source_type": "url", "url": "http://evil.example/x.png"},
        {"type": "audio"},
    ]
    (bubble,) = bubbles([{"index": 0, "role": "user", "content": "look", "contentBlocks": blocks}])
    assert bubble.blocks == [
        {"kind": "text", "text": "look"},
        {"kind": "image", "text": "image (not loaded)"},
        {"kind": "image", "text": "image (not loaded)"},
        {"kind": "other", "text": "[audio]"},
    ]
