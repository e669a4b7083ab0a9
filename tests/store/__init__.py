"""Tests of keepfor's own record store."""
