@remote
Feature: The app refuses what the article does not allow, and the recorder refuses it too

  Background:
    Given the recorder is powered on and connected to the network
    And the recorder is online in the cloud app

  @ART-CONFIRM @app
  Scenario: a confirmation that does not match is refused before anything reaches the recorder
    Given I am signed into the app as the administrator on an iPhone
    When I modify the password to a new 6-character password and confirm it with a different one
    Then the app shows that the password was not changed
    And no password change reached the recorder
    And the current password still logs in on every local interface

  @ART-LEN6 @app
  Scenario Outline: the app refuses a password that is not 6 characters
    Given I am signed into the app as the administrator on an iPhone
    When I modify the password to a new <length>-character password and confirm it
    Then the app shows that the password was not changed
    And no password change reached the recorder
    And the current password still logs in on every local interface

    Examples:
      | length |
      | 5      |
      | 7      |

  @ART-SECONDARY
  Scenario: a secondary user's request sent the way the app sends it is refused by the recorder itself
    Given the administrator has added a secondary user
    And I am signed into the app as the secondary user on an iPhone
    When the app sends a password change for the administrator anyway
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them
