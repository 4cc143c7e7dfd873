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
  Scenario: the stored hash of the password is not accepted as the password
    When someone tries the stored hash of the administrator's password as the password
    Then the stored hash logs in on none of the local interfaces
