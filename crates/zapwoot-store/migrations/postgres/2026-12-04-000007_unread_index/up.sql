-- The customer's messages not yet marked read on WhatsApp (mark_read_on_reply): only those rows
-- are in the index, so finding them is cheap and marking them read takes them out.
CREATE INDEX messages_unread_incoming ON messages (instance_id, chat_jid, id)
    WHERE direction = 'incoming' AND delivery < 3;
