@asvs
Feature: OWASP ASVS — changing a password needs the current one and ends other sessions

  Background:
    Given the recorder is powered on and connected to the network

  @ASVS-CURRENT-PW
  Scenario: a change that gives a wrong current password is refused
    When the administrator changes the password to a new 6-character password giving a wrong current password
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them

  @ASVS-SESSIONS-END
  Scenario: a session opened before the change ends with it
    Given the administrator has a session open on the recorder
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And the session opened before the change is no longer accepted
