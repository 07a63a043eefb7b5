"""transformer_xl"""
