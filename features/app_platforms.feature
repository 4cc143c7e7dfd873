@ART-ANDROID @remote @app
Feature: Android — "currently only supported on iOS … We will update this article when the fix becomes available"

  Background:
    Given the recorder is powered on and connected to the network
    And the recorder is online in the cloud app

  Scenario: the 2017 Android app does not offer Modify password, and nothing changes
    Given the app is the 2017 release
    And I am signed into the app as the administrator on an Android phone
    When I try to modify the password to a new 6-character password and confirm it
    Then the app shows that Modify password is not offered
    And the current password still logs in on every local interface
    And the saved device entry still connects without re-adding the recorder

  Scenario: an Android app that ships the fix changes the password
    Given the app is a release that ships the Android fix
    And I am signed into the app as the administrator on an Android phone
    When I modify the password to a new 6-character password and confirm it
    Then the app shows that the password was changed
    And the new password logs in on every local interface
    And the old password logs in on none of them
