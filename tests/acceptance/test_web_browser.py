"""The public pages in Debian's headless Chromium, driven by Selenium against `tiket serve`.

Screenshots of every page at phone and desktop widths go to test-artifacts/web/.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from tests.acceptance.web_support import TEAM, TECH, Helpdesk, running_helpdesk
from tests.conftest import ROOT, need
from tests.support import body_text, reply_to, send, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "test-artifacts" / "web"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
REQUESTER = "ketut@dinas.example"


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helpdesk]:
    with running_helpdesk(tmp_path_factory.mktemp("web-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        need("apt-get install -y chromium chromium-driver")
    # Never let Selenium Manager fetch a browser or a driver: both come from Debian.
    os.environ["SE_OFFLINE"] = "true"
    os.environ["SE_AVOID_STATS"] = "true"
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=id-ID",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "id-ID,id"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: WebDriver, name: str) -> None:
    """The whole page (not only the viewport) at both widths, as PNG files."""
    for label, (width, height) in WIDTHS.items():
        # A device viewport of exactly this width (a window cannot get narrower than ~500 px).
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1}
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "mobile": label == "phone"}
        )
        driver.execute_cdp_cmd("Emulation.setScrollbarsHidden", {"hidden": True})
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        (ARTIFACTS / f"{name}-{label}.png").write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_report_follow_and_rate_in_the_browser(helpdesk: Helpdesk, browser: WebDriver) -> None:
    browser.set_window_size(*WIDTHS["phone"])
    browser.get(helpdesk.url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Laporkan masalah TIK"
    assert "Diskominfo Kota Contoh" in browser.find_element(By.CLASS_NAME, "brand").text
    shoot(browser, "01-report-form")

    # Submitting without a contact shows the errors, and keeps what was typed.
    browser.find_element(By.ID, "name").send_keys("Ketut Arya Wibawa")
    browser.find_element(By.ID, "description").send_keys("Email tidak bisa dikirim")
    browser.find_element(By.ID, "category-email").click()
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    errors = browser.find_element(By.CLASS_NAME, "errors")
    assert "isi email atau nomor telepon" in errors.text
    assert browser.find_element(By.ID, "name").get_attribute("value") == "Ketut Arya Wibawa"
    shoot(browser, "02-report-form-errors")

    browser.find_element(By.ID, "agency").send_keys("Dinas Kesehatan")
    browser.find_element(By.ID, "email").send_keys(REQUESTER)
    browser.find_element(By.ID, "phone").send_keys("0812 3456 7890")
    description = browser.find_element(By.ID, "description")
    description.send_keys(" sejak pagi: <b>Error 550</b>.")
    attachment = helpdesk.daemon.workdir / "layar.txt"
    attachment.write_text("550 relay denied\n")
    browser.find_element(By.ID, "attachments").send_keys(str(attachment))
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    number = wait_for(lambda: _text(browser, "ticket-number"), timeout=20, what="the ticket number")
    assert re.fullmatch(r"TKT-[0-9A-Z]{4}-[0-9A-Z]{4}", number)
    shoot(browser, "03-report-sent")
    ack = wait_for(lambda: helpdesk.sink.to(REQUESTER), what="acknowledgement by mail")[0]
    assert number in str(ack["Subject"])

    # Look it up from the status form, as someone with only the number would.
    browser.get(helpdesk.url + "/status")
    shoot(browser, "04-status-form")
    field = browser.find_element(By.ID, "number")
    field.send_keys(number.lower())
    field.send_keys(Keys.ENTER)
    wait_for(lambda: number in _heading(browser), what="status page")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Email" in page and "Ketut" in page and "Wibawa" not in page
    assert "<b>Error 550</b>" in page  # shown as the text it is
    shoot(browser, "05-status-new")

    # A technician answers the team's notification by mail and resolves the ticket.
    notify = wait_for(lambda: helpdesk.sink.to(TEAM), what="team notification")[0]
    answer = reply_to(
        notify.as_bytes(),
        sender=f"Wayan Sudarma <{TECH}>",
        body="Kotak surat Anda penuh; sudah kami kosongkan, silakan coba lagi.\n#resolve",
    )
    send(helpdesk.smtp_port, answer, sender=TECH, rcpts=(str(notify["Reply-To"]),))

    def reply_shown() -> bool:
        browser.refresh()
        return "Kotak surat Anda penuh" in browser.find_element(By.TAG_NAME, "main").text

    wait_for(reply_shown, timeout=20, interval=0.5, what="the technician's reply on the page")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Wayan" in main and "Sudarma" not in main and "#resolve" not in main
    assert "terselesaikan" in main
    shoot(browser, "06-status-replied")

    # English through the switch, and it sticks.
    browser.find_element(By.LINK_TEXT, "English").click()
    assert "History" in browser.find_element(By.TAG_NAME, "main").text
    shoot(browser, "07-status-english")
    browser.find_element(By.LINK_TEXT, "Bahasa Indonesia").click()

    # The survey link from the invitation: opening it records nothing.
    invitation = wait_for(
        lambda: [m for m in helpdesk.sink.to(REQUESTER) if "/survey/" in body_text(m)],
        what="survey invitation",
    )[0]
    link = re.search(r"http://\S+/survey/[A-Za-z0-9_-]+", body_text(invitation))
    assert link is not None
    browser.get(link.group(0))
    assert _rating(helpdesk, number) is None
    shoot(browser, "08-survey")
    wait_for(lambda: _click(browser, "label[for=rating-4]"), what="rating 4 chosen")
    browser.find_element(By.ID, "comment").send_keys("Cepat ditangani, terima kasih!")
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    wait_for(lambda: "Terima kasih" in _heading(browser), what="thanks")
    shoot(browser, "09-survey-thanks")
    assert _rating(helpdesk, number) == 4

    browser.get(link.group(0))  # single use
    assert "sudah diisi" in browser.find_element(By.TAG_NAME, "main").text
    shoot(browser, "10-survey-used")
    browser.get(helpdesk.url + "/status/TKT-0000-0000")
    shoot(browser, "11-not-found")


def test_the_form_works_by_keyboard_and_every_field_has_a_label(
    helpdesk: Helpdesk, browser: WebDriver
) -> None:
    browser.set_window_size(*WIDTHS["phone"])
    browser.get(helpdesk.url + "/?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Report an IT problem"
    for field in browser.find_elements(By.CSS_SELECTOR, "form.card input, form.card textarea"):
        kind = field.get_attribute("type")
        if kind == "hidden":
            continue
        field_id = field.get_attribute("id")
        assert browser.find_elements(By.CSS_SELECTOR, f"label[for='{field_id}']"), field_id
    # Tab from the skip link: the language switch, the menu, then the first field.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("class") == "skip"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    for _ in range(5):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("id") == "name":
            break
    assert browser.switch_to.active_element.get_attribute("id") == "name"
    browser.switch_to.active_element.send_keys("Putu")
    browser.get(helpdesk.url + "/")  # the chosen language is remembered
    assert browser.find_element(By.TAG_NAME, "h1").text == "Report an IT problem"
    shoot(browser, "12-report-form-english")


def _click(browser: WebDriver, selector: str) -> bool:
    """Click, or False when the page re-rendered under us (after a viewport change)."""
    try:
        browser.find_element(By.CSS_SELECTOR, selector).click()
    except StaleElementReferenceException:
        return False
    return True


def _heading(browser: WebDriver) -> str:
    """The page's h1, or "" while the browser is still swapping pages under us."""
    try:
        return str(browser.find_element(By.TAG_NAME, "h1").text)
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def _text(browser: WebDriver, element_id: str) -> str:
    found = browser.find_elements(By.ID, element_id)
    return str(found[0].text) if found else ""


def _rating(helpdesk: Helpdesk, number: str) -> int | None:
    from tiket.model import Survey, Ticket

    db = helpdesk.database()
    with db.session() as session:
        rating = session.scalar(select(Survey.rating).join(Ticket).where(Ticket.number == number))
    db.dispose()
    return rating
