"""Pure domain logic: vocabulary, identity keys, models. No I/O."""
