"""A third-party ONVIF client (onvif-zeep on zeep) logs in to a recorder: GetDeviceInformation with a
WS-Security UsernameToken (PasswordDigest, time-adjusted as onvif-zeep does), then SetUser when asked.

usage: onvif_zeep_login.py HOST PORT USER PASSWORD [NEW_PASSWORD]
prints the serial number and exits 0 when logged in; exits 3 on a NotAuthorized refusal, 1 otherwise.
"""
import sys

from onvif import ONVIFCamera, ONVIFError


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    try:
        cam = ONVIFCamera(host, port, user, password, adjust_time=True)
        info = cam.devicemgmt.GetDeviceInformation()
        print("serial", info.SerialNumber)
        if len(sys.argv) > 5:
            cam.devicemgmt.SetUser({"User": [{"Username": user, "Password": sys.argv[5], "UserLevel": "Administrator"}]})
            print("set")
    except ONVIFError as e:
        text = str(e)
        print("refused" if "NotAuthorized" in text or "not authorized" in text.lower() else "error", text)
        sys.exit(3 if "NotAuthorized" in text or "not authorized" in text.lower() else 1)


main()
