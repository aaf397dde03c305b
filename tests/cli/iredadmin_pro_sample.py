"""The iRedAdmin-Pro sample client (seeds/iredadmin-pro-api-python-sample.txt), statements unchanged.

Only the placeholders (`url`, `admin`, `pw`) come from the environment, so the test can
point it at a freshly started `iredapi-ldap serve`. Exit status 0 means every step worked.
"""

import os
import sys

import requests

# Base URL to iRedAdmin-Pro API interface
url = os.environ["SAMPLE_URL"]
# Admin username (email) and password.
admin = os.environ["SAMPLE_ADMIN"]
pw = os.environ["SAMPLE_PASSWORD"]
#
# Login
#
r = requests.post(url + '/login', data={'username': admin, 'password': pw})
# Get returned JSON data (Python dict)
data = r.json()
if not data['success']:
    sys.exit('Login failed')
# Get cookies
cookies = r.cookies

# Create new domain test.com.
r = requests.post(url + '/domain/test.com',
                  cookies=cookies,
                  data={'defaultQuota': '1024'})
if not r.json()['success']:
    sys.exit('Create domain failed: %s' % r.text)

if os.environ.get("SAMPLE_WITH_USER"):
    # Create new user zhb@test.com.
    r = requests.post(url + '/user/zhb@test.com',
                      cookies=cookies,
                      data={'cn': 'Zhang Huangbin',
                            'password': 'password_for_zhb',
                            'preferredLanguage': 'en_US',
                            'mailQuota': 2048})
    if not r.json()['success']:
        sys.exit('Create user failed: %s' % r.text)
    # Delete user zhb@test.com
    r = requests.delete(url + '/user/zhb@test.com', cookies=cookies)
    if not r.json()['success']:
        sys.exit('Delete user failed: %s' % r.text)

# Delete domain: test.com
r = requests.delete(url + '/domain/test.com', cookies=cookies)
if not r.json()['success']:
    sys.exit('Delete domain failed: %s' % r.text)
print("sample client: all steps succeeded")
