#!/usr/bin/python3
"""Drives headless Chromium (Debian's chromium and chromium-driver, python3-selenium) through
concord's web view against a real `concord serve`, checking every page against figures the CLI
printed (--json), and saving a screenshot of each page.

Run by WebViewBrowserTests (swift test); by hand:
  view_check.py --url http://127.0.0.1:7400 --token TOKEN --expected expected.json --screenshots DIR
Exits 0 when every check holds; otherwise prints each failed check and exits 1.
"""
import argparse
import json
import os
import re
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def luminance(rgb):
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def color(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def contrast(foreground, background):
    a, b = luminance(color(foreground)), luminance(color(background))
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--driver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    expected = json.load(open(args.expected))
    os.makedirs(args.screenshots, exist_ok=True)

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(args.driver), options=options)
    driver.set_page_load_timeout(60)
    url = args.url.rstrip("/")

    def shot(name):
        path = os.path.join(args.screenshots, name + ".png")
        # The whole page, not just the window.
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(max(height + 100, 800), 6000))
        driver.save_screenshot(path)
        print("     screenshot " + path)

    def navigating(action):
        """Runs an action that loads another page, and waits until the new page has replaced the old."""
        old = driver.find_element(By.TAG_NAME, "html")
        action()
        WebDriverWait(driver, 30).until(expected_conditions.staleness_of(old))

    def text(selector):
        return driver.find_element(By.CSS_SELECTOR, selector).text.strip()

    def accessible(page):
        inputs = [e for e in driver.find_elements(By.CSS_SELECTOR, "input, select") if e.get_attribute("type") != "hidden"]
        unlabelled = [e.get_attribute("name") for e in inputs
                      if not driver.find_elements(By.CSS_SELECTOR, "label[for='%s']" % e.get_attribute("id"))]
        check(not unlabelled, page + ": every field has a label (unlabelled: %s)" % unlabelled)
        tables = driver.find_elements(By.CSS_SELECTOR, "table")
        check(all(t.find_elements(By.CSS_SELECTOR, "th") for t in tables), page + ": every table has header cells")
        check(len(driver.find_elements(By.CSS_SELECTOR, "h1")) == 1, page + ": one h1")
        body = driver.find_element(By.TAG_NAME, "body")
        ratio = contrast(body.value_of_css_property("color"), body.value_of_css_property("background-color"))
        check(ratio >= 4.5, page + ": body text contrast %.1f:1 (at least 4.5:1)" % ratio)
        links = driver.find_elements(By.CSS_SELECTOR, "main a")
        if links:
            ratio = contrast(links[0].value_of_css_property("color"), body.value_of_css_property("background-color"))
            check(ratio >= 4.5, page + ": link contrast %.1f:1" % ratio)

    try:
        # Sign in: a page asks for the token, then goes where it was asked for.
        driver.get(url + "/view/cases")
        check("/view/login" in driver.current_url, "without a token the view asks for one")
        accessible("login")
        shot("01-login")
        field = driver.find_element(By.ID, "token")
        field.send_keys("concord_not_a_real_token")
        navigating(field.submit)
        check("not one this node issued" in driver.page_source, "a wrong token is refused, saying so")
        field = driver.find_element(By.ID, "token")
        field.send_keys(args.token)
        navigating(lambda: field.send_keys(Keys.ENTER))
        check(driver.current_url.endswith("/view/cases"), "after signing in, the page asked for (%s)" % driver.current_url)

        # Overview: the node's figures as concord status, digest and verify give them.
        driver.get(url + "/view")
        check(expected["node"] in text("h1"), "overview names the node")
        check(text("#event-count") == str(expected["events"]), "events held %s = concord status %s" % (text("#event-count"), expected["events"]))
        check(text("#digest") == expected["digest"], "digest = concord digest")
        check(text("#verify-status").startswith("Verified at") and "faults" not in text("#verify-status"), "verification holds")
        check(len(driver.find_elements(By.CSS_SELECTOR, "main table")[0].find_elements(By.CSS_SELECTOR, "tbody tr")) == expected["origins"],
              "one row an origin (%d)" % expected["origins"])
        accessible("overview")
        # Keyboard: the first Tab reaches the skip link, and it leads to the content.
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        check(active.text == "Skip to the content", "the first Tab stop is the skip link (%r)" % active.text)
        active.send_keys(Keys.TAB)
        check(driver.switch_to.active_element.text == "Overview", "the next Tab stop is the first section link")
        shot("02-overview")

        # Cases: every case, then the filters the CLI has.
        driver.get(url + "/view/cases")
        check(text("#row-count") == str(expected["cases"]), "cases %s = concord query cases %s" % (text("#row-count"), expected["cases"]))
        check(len(driver.find_elements(By.CSS_SELECTOR, "figure svg rect")) > 0, "cases by region and status are drawn")
        accessible("cases")
        shot("03-cases")
        status = driver.find_element(By.ID, "f-status")
        status.send_keys("charged")
        navigating(status.submit)
        check(text("#row-count") == str(expected["charged"]), "charged cases %s = concord query cases --status charged %s" % (text("#row-count"), expected["charged"]))
        region = driver.find_element(By.ID, "f-region")
        region.clear()
        region.send_keys(expected["region"])
        navigating(region.submit)
        check(text("#row-count") == str(expected["chargedInRegion"]), "charged in %s: %s = CLI %s" % (expected["region"], text("#row-count"), expected["chargedInRegion"]))
        csv = driver.find_element(By.LINK_TEXT, "Download as CSV").get_attribute("href")
        check("status=charged" in csv and "/view/cases.csv" in csv, "the CSV link keeps the filters")
        shot("04-cases-charged")

        # One case: follow the first link; its timeline shows every event of the stream.
        driver.get(url + "/view/cases")
        first = driver.find_element(By.CSS_SELECTOR, "#rows tbody tr td a")
        case_id = first.text
        navigating(first.click)
        check(text("h1") == "case:" + case_id, "the link leads to case:%s" % case_id)
        steps = driver.find_elements(By.CSS_SELECTOR, "#timeline > li")
        check(len(steps) == expected["firstCaseEvents"], "timeline steps %d = events of the stream %d" % (len(steps), expected["firstCaseEvents"]))
        check("case.opened" in steps[0].text and "added" in steps[0].text, "the first step opens the case and adds its row")
        check(len(driver.find_elements(By.CSS_SELECTOR, "figure svg circle")) == len(steps), "the timeline is drawn, a point an event")
        accessible("case")
        shot("05-case")

        # The meeting: its decisions and what followed them.
        driver.get(url + "/view/meetings")
        navigating(driver.find_element(By.CSS_SELECTOR, "#rows tbody tr td a").click)
        check(text("h1") == "meeting:" + expected["meeting"], "the meeting's page")
        trail_rows = driver.find_elements(By.CSS_SELECTOR, "#trail tbody tr")
        check(len(trail_rows) == expected["trailRows"], "decision trail rows %d = CLI %d" % (len(trail_rows), expected["trailRows"]))
        accessible("meeting")
        shot("06-meeting")

        # Decisions and overdue actions.
        driver.get(url + "/view/decisions")
        check(text("#row-count") == str(expected["decisions"]), "decisions = concord query decisions")
        shot("07-decisions")
        driver.get(url + "/view/actions")
        driver.find_element(By.ID, "f-overdue").click()
        navigating(driver.find_element(By.ID, "f-overdue").submit)
        check(text("#row-count") == str(expected["overdue"]), "overdue actions %s = concord query actions --overdue %s" % (text("#row-count"), expected["overdue"]))
        check(len(driver.find_elements(By.CSS_SELECTOR, "figure svg rect")) > 0, "actions due and overdue are drawn")
        accessible("actions")
        shot("08-actions-overdue")

        # The as-of control: as the hub held it at its first checkpoint.
        driver.get(url + "/view/meetings")
        driver.find_element(By.ID, "as_of").send_keys(expected["firstCheckpointAt"])
        Select(driver.find_element(By.ID, "seen_by")).select_by_value(expected["node"])
        navigating(driver.find_element(By.ID, "as_of").submit)
        check("seen_by=" in driver.current_url, "the control puts the view in the address")
        check("As %s held it" % expected["node"] in text("#view-description"), "the page says which view it shows")
        check(text("#row-count") == str(expected["meetingsSeenByHubFirst"]), "meetings as the hub held them then %s = CLI %s" % (text("#row-count"), expected["meetingsSeenByHubFirst"]))
        driver.get(url + "/view/cases?as_of=%s&seen_by=%s" % (expected["firstCheckpointAt"], expected["node"]))
        check(text("#row-count") == str(expected["casesSeenByHubFirst"]), "cases as the hub held them then %s = CLI %s" % (text("#row-count"), expected["casesSeenByHubFirst"]))
        shot("09-as-seen-by-hub")

        # What changed between two dates.
        driver.get(url + "/view/changes")
        driver.find_element(By.ID, "from").send_keys(expected["changesFrom"])
        driver.find_element(By.ID, "to").send_keys(expected["changesTo"])
        navigating(driver.find_element(By.ID, "to").submit)
        rows = driver.find_elements(By.CSS_SELECTOR, "#changes tbody tr")
        check(len(rows) > 0, "changes between %s and %s are listed (%d)" % (expected["changesFrom"], expected["changesTo"], len(rows)))
        accessible("changes")
        shot("10-changes")
    finally:
        driver.quit()
    print("%d check(s) failed" % len(failures) if failures else "all checks hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
