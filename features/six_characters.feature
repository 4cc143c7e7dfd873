@ART-LEN6 @ART-LOCAL
Feature: The new password is exactly 6 characters
  "Enter and confirm a new 6-character password for your DVR / NVR" — the recorder itself stores
  exactly that and refuses anything else, even when a request does not come through the app.

  Background:
    Given the recorder is powered on and connected to the network

  @ART-ADMIN @ETSI-OLD-CREDENTIAL
  Scenario: a 6-character password set by the administrator replaces the old one everywhere
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And the new password logs in on every local interface
    And the old password logs in on none of them

  Scenario Outline: a password shorter than 6 characters is refused and nothing changes
    When the administrator changes the password to a new <length>-character password on the recorder
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them

    Examples:
      | length |
      | 0      |
      | 1      |
      | 5      |

  Scenario Outline: a password that is not 6 characters is refused over ONVIF too
    When the administrator changes the password to a new <length>-character password over ONVIF
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them

    Examples:
      | length |
      | 5      |
      | 7      |

  Scenario Outline: a password longer than 6 characters is refused, not truncated
    When the administrator changes the password to a new <length>-character password on the recorder
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them
    And its first 6 characters log in on none of them

    Examples:
      | length |
      | 7      |
      | 12     |
      | 64     |

  Scenario: a 6-character password with a character the firmware does not allow is refused
    When the administrator changes the password to a new 6-character password with a character outside the allowed set on the recorder
    Then the recorder refuses the change
    And the current password still logs in on every local interface
