"""deepspeech"""
