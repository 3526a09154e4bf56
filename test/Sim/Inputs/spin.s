top:
  jump.j target=top
  finish
