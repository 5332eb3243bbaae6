DROP INDEX messages_unread_incoming;
