@VENDOR-CHARSET @ART-LOCAL
Feature: The firmware's own character rule
  The article asks for a 6-character password and says nothing about which characters. This
  firmware's profile allows only some (password_rule.charset): that is the vendor's rule, judged as
  its own requirement, never as the article's.

  Background:
    Given the recorder is powered on and connected to the network

  Scenario: a 6-character password with a character the firmware does not allow is refused
    When the administrator changes the password to a new 6-character password with a character outside the allowed set on the recorder
    Then the recorder refuses the change
    And the current password still logs in on every local interface
