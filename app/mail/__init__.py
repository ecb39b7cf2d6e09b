"""E-mail: every message goes through the outbox and is sent by a worker, never by a request.

The API for any feature that sends mail (reminders, invitations, password resets):

- Build an ``email.message.EmailMessage`` (From, To, Subject, Date, Message-ID set), with
  every address made by ``mail_address`` / ``sender_address`` (``addresses.py``: display
  names that header folding cannot turn into a second recipient).
- ``queue_mail(session, message, kind="...")`` stores it in the outbox, in the caller's
  transaction: if the transaction rolls back, nothing is sent; once it commits, a worker is
  told (``app/tasks.py`` listens for the commit) and sends it.
- Delivery (``outbox.deliver_due``) claims each message with a conditional update, sends it,
  and marks it sent, so a retry never sends a message twice; a server that is down or
  answers 4xx defers the message with back-off; a 5xx refusal fails it for good.

``smtp.MailSettings`` says how to reach the SMTP server (``mail_settings(config)`` reads the
``SMTP_*`` keys of the app's configuration).
"""

from app.mail.addresses import display_name, mail_address, sender_address
from app.mail.outbox import deliver_due, queue_mail
from app.mail.smtp import MailSettings, mail_settings

__all__ = [
    "MailSettings",
    "deliver_due",
    "display_name",
    "mail_address",
    "mail_settings",
    "queue_mail",
    "sender_address",
]
