"""Citizens: the public Wi-Fi status page's data and the problem reports citizens send.

| module | job |
|---|---|
| ``config.py`` | the ``citizens:`` section and its cross-reference checks |
| ``tables.py`` | tickets, reports and forwards in the state store (SQLite or PostgreSQL) |
| ``desk.py`` | ``ReportDesk``: file a report (linked to an open outage, else a new ticket), the queue, merge, link, status, contact purge |
| ``evidence.py`` | what the partner gets when a ticket is forwarded (site, APs, outage, availability, reports) |
| ``forward.py`` | sends the evidence through an alert channel (e-mail or webhook) and records it |
| ``monthly.py`` | per-site report figures for the monthly report |
"""
