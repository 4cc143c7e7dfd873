@etsi @cve
Feature: Guessing the password is impractical — lockout holds on every interface
  ETSI EN 303 645 5.1-5, and the regression class of this family where only the web interface counted.

  Background:
    Given the recorder is powered on and connected to the network

  @ETSI-BRUTE-FORCE @CVE-LOCKOUT-ALL-INTERFACES @power
  Scenario Outline: wrong passwords on <interface> lock the administrator out of every interface
    When someone tries as many wrong passwords as the lockout threshold on <interface>
    Then the administrator is locked out of every local interface, even with the right password
    And once the lock is cleared as the firmware says, the right password logs in again

    Examples:
      | interface |
      | HTTP CGI  |
      | RPC2      |
      | RTSP      |

  @ETSI-BRUTE-FORCE @power
  Scenario: the lock lasts as long as the firmware says, then ends by itself
    A lock that ends early makes guessing practical again. The scenario waits the whole stated
    duration (5 minutes on flir-2017 hardware, scaled down on the emulated lab); power control is
    needed only to clear a lock that never ends.

    When someone tries as many wrong passwords as the lockout threshold on HTTP CGI
    Then shortly before the lock's stated duration has passed, the right password is still refused
    And once the stated duration has passed, the right password logs in again without a power cycle
