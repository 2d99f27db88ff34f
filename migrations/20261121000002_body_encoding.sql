-- Bodies may be stored gzip-compressed (the form L1 serves to gzip clients anyway): about a
-- quarter of the size, and no recompression when an answer is loaded back into memory.
ALTER TABLE cached_response ADD COLUMN IF NOT EXISTS body_encoding TEXT NOT NULL DEFAULT 'identity';
