@ART-DURABLE
Feature: The new password holds "from now on"
  "Your new password will be used to access your DVR / NVR locally from now on" — through power cycles
  and network loss; a power cut at any moment leaves exactly one of old/new valid, everywhere.

  Background:
    Given the recorder is powered on and connected to the network

  @power
  Scenario: the new password survives a power cycle
    Given the administrator has changed the password to a new 6-character password
    And the recorder has had time to save it
    When the recorder's power is cut and restored
    Then the new password logs in on every local interface
    And the old password logs in on none of them

  @network
  Scenario: the new password survives a network outage
    Given the administrator has changed the password to a new 6-character password
    When the recorder's network link drops and comes back
    Then the new password logs in on every local interface
    And the old password logs in on none of them

  @power
  Scenario Outline: a power cut <when> leaves exactly one of the old and new passwords valid everywhere
    When the administrator changes the password and the power is cut <when>
    And the recorder's power is restored
    Then exactly one of the old and new passwords logs in, the same one on every local interface
    And if the recorder had promised the change, it is the new one

    Examples:
      | when                                        |
      | just before the change is sent              |
      | while the recorder is processing the change |
      | right after the recorder answers OK         |
      | after the flash commit delay                |
