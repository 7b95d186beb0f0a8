"""Wide attention (Brown et al. 2022): attention mixers, an encoder, LRA-style tasks."""
