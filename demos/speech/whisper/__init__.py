"""whisper"""
