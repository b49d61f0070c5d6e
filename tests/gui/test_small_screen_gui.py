"""The app in a small window (a 1024x600 netbook or a laptop at 150 % scaling): the player's seek bar
stays usable and its time says the offset and the frame, whatever the width."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import pets


def test_the_seek_bar_spans_the_player_in_a_small_window(make_window, qtbot, indexed_copy: Path) -> None:
    window = make_window(indexed_copy, resize=False)
    window.resize(1024, 600)
    qtbot.waitUntil(lambda: window.width() == 1024)
    player = window.player
    assert player.open_video(str(pets().video)) and player.seek(300)
    qtbot.waitUntil(lambda: player.slider.width() > 0)
    # beside the buttons and a fixed-width time it was 25 px long: a frame per pixel of 30 in 800
    assert player.slider.width() >= 0.8 * player.view.width(), (player.slider.width(), player.view.width())
    label = player.time_label
    assert label.text().endswith("#300") and label.toolTip() == label.text()
    shown = label.fontMetrics().elidedText(label.text(), label.mode, label.contentsRect().width())
    assert shown.endswith("0:30.0 / 1:19.5  #300"), shown  # the date gives way first
