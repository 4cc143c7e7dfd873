@asvs @ASVS-NO-SECRETS-LOGGED @console
Feature: Credentials never appear on the recorder's console (OWASP ASVS V7.1.1)

  Scenario: changing the password prints neither the old nor the new one on the console
    Given the recorder is powered on and connected to the network
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And the console shows neither the old nor the new password
