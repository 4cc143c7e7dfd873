@etsi @ETSI-DEFAULT-PW @remote
Feature: No universal default password is usable remotely (ETSI EN 303 645 5.1-1)
  The firmware claims the factory default must be changed before remote use; resetlab checks the claim.

  @factory-state
  Scenario: the factory default password works locally for set-up but not remotely until changed
    Given the recorder is powered on and connected to the network
    And the recorder is online in the cloud app
    And the recorder still has its factory default password
    Then the factory default password logs in locally
    But it does not log in remotely from a smartphone, a tablet or a computer
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And the new password logs in remotely from a smartphone, a tablet and a computer
