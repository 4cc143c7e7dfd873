@remote @app
Feature: The recorder must be powered on and connected to the network
  "Make sure your DVR / NVR is powered on and connected to the network." When it is not, the app says
  so, nothing changes, and no success is ever reported.

  Background:
    Given the recorder is powered on and connected to the network
    And the recorder is online in the cloud app
    And I am signed into the app as the administrator on an iPhone

  @ART-PRE-POWER @power
  Scenario: with the recorder powered off the app says it is offline and nothing changes
    Given the recorder is powered off
    When I try to modify the password to a new 6-character password and confirm it
    Then the app shows that the recorder is offline
    When the recorder is powered on again
    Then the current password still logs in on every local interface
    And the refused password logs in on none of them

  @ART-PRE-NET @network
  Scenario: with the network link down the app says so and nothing changes
    Given the recorder's network link is down
    When I try to modify the password to a new 6-character password and confirm it
    Then the app shows that the recorder is offline
    When the network link comes back
    Then the current password still logs in on every local interface
    And the refused password logs in on none of them
