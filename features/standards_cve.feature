@cve
Feature: Known authentication bypasses of this device family stay fixed

  Background:
    Given the recorder is powered on and connected to the network

  @CVE-LOOPBACK-BYPASS
  Scenario Outline: a login claiming to be a <client> client still needs the password
    When someone logs in as the administrator from a "<client>" client of type "<login>" with a wrong password
    Then that login is refused

    Examples:
      | client      | login    |
      | Web3.0      | Loopback |
      | NetKeyboard | Direct   |
      | Local       | Loopback |

  @CVE-HASH-AS-PASSWORD
  Scenario: a stored hash leaked before the password is changed does not log in after it
    The published attack on this family answers the login challenge with a leaked stored hash
    instead of the password (pass-the-hash): on the wire it is an ordinary login, so changing the
    password is what must make a leaked hash worthless.

    Given the stored hash of the administrator's password has leaked
    When the administrator changes the password to a new 6-character password on the recorder
    Then the recorder accepts the change
    And a login computed from the leaked hash is refused
