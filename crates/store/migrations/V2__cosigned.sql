-- The latest checkpoint with the witness cosignatures its log's policy asks for,
-- as the sequencer gathered them: the other instances serve it once they have
-- checked it themselves. Replaced only by one of the same or a larger size.
CREATE TABLE cosigned_checkpoint (
    id smallint PRIMARY KEY CHECK (id = 1),
    size bigint NOT NULL,
    note bytea NOT NULL
);
