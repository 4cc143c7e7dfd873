@ART-SECONDARY @ART-ADMIN @ART-LOCAL
Feature: Only the administrator can change the password
  "You must be signed into your FLIR Cloud app using the administrator account. Secondary users cannot
  perform password resets." The recorder enforces it itself, not only the app.

  Background:
    Given the recorder is powered on and connected to the network
    And the administrator has added a secondary user

  Scenario: a secondary user cannot change the administrator's password
    When the secondary user changes the administrator's password to a new 6-character password on the recorder
    Then the recorder refuses the change
    And the current password still logs in on every local interface
    And the refused password logs in on none of them
