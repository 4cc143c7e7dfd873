"""The article's whole flow on the emulated phone, driven by Selenium's Python client — a standard
W3C WebDriver client resetlab did not write. Run by tests/selenium.rs; prints one JSON line.

Arguments: the phone's URL and the recorder's serial. Secrets come from the environment
(APP_ACCOUNT, APP_PASSWORD, DEVICE_PASSWORD, NEW_PASSWORD), never from the command line.
"""
import json
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.options import ArgOptions

url, serial = sys.argv[1], sys.argv[2]
env = os.environ

options = ArgOptions()
for key, value in {
    "platformName": "iOS",
    "appium:automationName": "XCUITest",
    "appium:deviceName": "iPhone 7",
    "appium:platformVersion": "10.3",
    "resetlab:release": "2017",
}.items():
    options.set_capability(key, value)

driver = webdriver.Remote(command_executor=url, options=options)
result = {"session": bool(driver.session_id)}
try:
    def tap(using, value):
        driver.find_element(using, value).click()

    def type_into(using, value, text):
        field = driver.find_element(using, value)
        field.clear()
        field.send_keys(text)

    # 1. Open the FLIR Cloud app (signed into the administrator's app account).
    type_into("accessibility id", "account", env["APP_ACCOUNT"])
    type_into("accessibility id", "password", env["APP_PASSWORD"])
    tap("accessibility id", "sign-in")
    # The recorder is saved in the app with its device user and password.
    tap("accessibility id", "home-add-device")
    type_into("accessibility id", "add-serial", serial)
    type_into("accessibility id", "add-user", "admin")
    type_into("accessibility id", "add-password", env["DEVICE_PASSWORD"])
    tap("accessibility id", "add-save")
    # The new device opens on its own screen: back to the home screen.
    tap("accessibility id", "back")
    # 2. Tap [menu] in the upper-left corner, then Device Manager.
    menu = driver.find_element("accessibility id", "menu")
    result["menu_rect"] = menu.rect
    menu.click()
    tap("xpath", "//XCUIElementTypeCell[@label='Device Manager']")
    # 3. Tap your DVR / NVR, then Settings.
    cell = driver.find_element("-ios class chain", "**/XCUIElementTypeCell[`name == 'device-%s'`]" % serial)
    # get_dom_attribute is W3C Get Element Attribute (get_attribute runs a browser script).
    result["cell_value"] = cell.get_dom_attribute("value")
    cell.click()
    tap("-ios predicate string", "label == 'Settings'")
    # 4. Tap Modify password.
    tap("xpath", "//*[@label='Modify password']")
    # 5. Enter and confirm a new 6-character password, then tap the check mark.
    type_into("accessibility id", "new-password", env["NEW_PASSWORD"])
    type_into("accessibility id", "confirm-password", env["NEW_PASSWORD"])
    source = driver.page_source
    result["source_is_xcuitest"] = "<XCUIElementTypeSecureTextField" in source
    result["source_has_no_password"] = env["NEW_PASSWORD"] not in source and env["DEVICE_PASSWORD"] not in source
    tap("-ios class chain", "**/XCUIElementTypeButton[`name == 'check-mark'`]")
    message = driver.find_element("accessibility id", "modify-success")
    result["message"] = message.text
    result["enabled"] = message.is_enabled()
    result["tag"] = message.tag_name
    result["screenshot_is_png"] = driver.get_screenshot_as_png().startswith(b"\x89PNG\r\n\x1a\n")
    try:
        driver.find_element("accessibility id", "no-such-thing")
        result["no_such_element"] = False
    except NoSuchElementException:
        result["no_such_element"] = True
finally:
    driver.quit()
print(json.dumps(result))
