"""elmo"""
