"""Acting on what is due: sweeps that flag, anonymise, purge or queue for review, in
batches of one transaction each, every action audited in the transaction that takes it."""
