@asvs @ASVS-NO-SECRETS-LOGGED @console
Feature: Credentials never appear on the recorder's console (OWASP ASVS V7.1.1)

  Scenario: changing the password prints neither the old nor the new one on the console
    Given the recorder is powered on and connected to the network
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And the console shows neither the old nor the new password

  @power
  Scenario: the console stays free of passwords through the flash commit and the next boot
    Given the recorder is powered on and connected to the network
    And the administrator has changed the password to a new 6-character password
    And the recorder has had time to save it
    When the recorder's power is cut and restored
    Then the console shows neither the old nor the new password
