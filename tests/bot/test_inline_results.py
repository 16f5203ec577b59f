"""The fake Telegram refuses inline results as Telegram does (so a bot that passes here passes there)."""

import pytest

from bot.fake_telegram.inline import InlineResultError, check_results


def article(result_id: str = "1", text: str = "«نص» [1]", **extra: object) -> dict:
    return {"type": "article", "id": result_id, "title": "عنوان", "input_message_content": {"message_text": text, **extra}}


@pytest.mark.parametrize(
    ("results", "error"),
    [
        ([article(str(n)) for n in range(51)], "RESULTS_TOO_MUCH"),
        ([article("1"), article("1")], "RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "RESULT_ID_INVALID"),
        ([{**article(), "title": ""}], "RESULT_TITLE_EMPTY"),
        ([article(text="  ")], "MESSAGE_EMPTY"),
        ([article(text="<b>غير مغلق", parse_mode="HTML")], "can't parse entities"),
        ([article(text="ب" * 4097)], "MESSAGE_TOO_LONG"),
        ([{**article(), "type": "photo"}], "RESULT_TYPE_INVALID"),
    ],
)
def test_results_telegram_would_refuse(results: list, error: str) -> None:
    with pytest.raises(InlineResultError, match=error):
        check_results(results)


def test_results_telegram_accepts() -> None:
    check_results([article(str(n), "<b>«نص»</b> &amp; [1]", parse_mode="HTML") for n in range(50)])
    check_results([])
