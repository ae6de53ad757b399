"""What `python app.py` runs beside its page: the background build of the default zoo and the few
Gradio patches the app relies on. Above training (it builds models), beside search (it serves)."""
