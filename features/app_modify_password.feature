@ART-FLOW @ART-ADMIN @remote @app
Feature: The administrator changes the password from the app
  "Open the FLIR Cloud app … Tap Device Manager … Tap your DVR / NVR … then tap Settings … Tap Modify
  password … Enter and confirm a new 6-character password for your DVR / NVR, then tap [✓]." — the
  article's last tap is on its check-mark icon ([✓] here), not on an "OK" button.

  Background:
    Given the recorder is powered on and connected to the network
    And the recorder is online in the cloud app

  @ART-IOS @ART-LOCAL @ART-REMOTE
  Scenario Outline: the administrator changes the password from an <device>
    Given I am signed into the app as the administrator on an <device>
    When I modify the password to a new 6-character password and confirm it
    Then the app shows that the password was changed
    And the new password logs in on every local interface
    And the old password logs in on none of them
    And the new password logs in remotely from a smartphone, a tablet and a computer
    And the old password logs in remotely from none of them

    Examples:
      | device |
      | iPhone |
      | iPad   |

  @ART-KEEP-DEVICE
  Scenario: the saved device entry keeps working after the change
    Given I am signed into the app as the administrator on an iPhone
    When I modify the password to a new 6-character password and confirm it
    Then the app shows that the password was changed
    And the saved device entry still connects without re-adding the recorder
    And re-adding the recorder works with the new password only
