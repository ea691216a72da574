"""Exports of trained models for runtimes other than PyTorch."""
