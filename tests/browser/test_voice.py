"""A voice message recorded in the web chat during a ticket: a playable bubble for the citizen (after
a reload too) and a player on the operator's ticket page. Chromium's fake microphone plays a beep."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import OPERATOR_PASSWORD, Site
from tests.browser.test_web_journey import ask_for_a_person, bot_says, open_chat, say, sign_in

# how long a player's source plays, as the browser decodes it (seconds), and its element's duration
PLAYS_FOR = """async (audio) => {
  if (audio.readyState < 1) {
    audio.preload = 'metadata';
    audio.load();
    await new Promise((ok, bad) => {
      audio.onloadedmetadata = ok;
      audio.onerror = () => bad(String(audio.error && audio.error.message));
    });
  }
  const response = await fetch(audio.currentSrc || audio.src, { credentials: 'same-origin' });
  const sound = await new OfflineAudioContext(1, 48000, 48000).decodeAudioData(await response.arrayBuffer());
  return [sound.duration, audio.duration];
}"""


async def record(chat: Page, seconds: int) -> None:
    """Press the microphone and speak until the recording shows `seconds`."""
    await chat.click("#okno-mic")
    await expect(chat.locator("#okno-recording")).to_be_visible()
    await expect(chat.locator("#okno-rec-hint")).to_contain_text("Идёт запись")
    await expect(chat.locator("#okno-mic")).to_have_attribute("aria-label", "Отправить голосовое сообщение")
    await expect(chat.locator("#okno-input")).to_be_hidden()  # the recording takes the composer's place
    await expect(chat.locator("#okno-rec-time")).to_contain_text(f"0:0{seconds} / 3:00", timeout=15_000)


async def plays_for(audio: Locator) -> float:
    decoded, element = await audio.evaluate(PLAYS_FOR)
    assert abs(decoded - element) < 0.2, "the player and the file disagree on the length"
    return float(decoded)


async def test_a_voice_message_recorded_in_the_chat_reaches_the_operator(
    browser: Browser, site: Site
) -> None:
    chat, _ = await open_chat(browser, site)
    number = await ask_for_a_person(chat)

    await record(chat, 2)
    await chat.click("#okno-mic")  # pressed again: sent
    await expect(chat.locator("#okno-recording")).to_be_hidden()
    bubble = chat.locator(".okno-from-citizen.okno-delivered audio")
    await expect(bubble).to_have_count(1, timeout=15_000)
    assert await plays_for(bubble) >= 1.5

    # a recording cancelled goes nowhere: the next message is the text after it
    await record(chat, 1)
    await chat.click("#okno-rec-cancel")
    await expect(chat.locator("#okno-recording")).to_be_hidden()
    await expect(chat.locator("#okno-input")).to_be_focused()
    await say(chat, "Это всё, что я хотел сказать")

    inbox = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await sign_in(inbox, site, OPERATOR_PASSWORD)
    await inbox.click(f"text={number}")
    transcript = inbox.locator(".transcript")
    await expect(transcript).to_contain_text("Это всё, что я хотел сказать", timeout=15_000)
    players = transcript.locator("audio")
    await expect(players).to_have_count(1)
    await expect(transcript.locator(".recording figcaption")).to_have_text("Голосовое сообщение · 0:02")
    assert await plays_for(players) >= 1.5

    await chat.reload()  # the citizen's own voice message is still there, and plays
    await bot_says(chat, "Ваше обращение №")
    again = chat.locator(".okno-from-citizen audio")
    await expect(again).to_have_count(1)
    assert await plays_for(again) >= 1.5


async def test_a_microphone_refused_or_missing_is_explained(browser: Browser, site: Site) -> None:
    context = await browser.new_context(locale="ru-RU")
    await context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    chat = await context.new_page()
    await chat.goto(f"{site.url}/chat")
    await bot_says(chat, "Здравствуйте")
    await chat.click("#okno-mic")
    await expect(chat.locator(".okno-notice")).to_contain_text("Нет доступа к микрофону")
    await expect(chat.locator("#okno-recording")).to_be_hidden()

    old_browser = await browser.new_context(locale="ru-RU")
    await old_browser.add_init_script("delete window.MediaRecorder;")
    chat = await old_browser.new_page()
    await chat.goto(f"{site.url}/chat")
    await bot_says(chat, "Здравствуйте")
    await chat.click("#okno-mic")
    await expect(chat.locator(".okno-notice")).to_contain_text("Этот браузер не умеет записывать голос")
