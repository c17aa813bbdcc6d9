{
  "targets": [
    {
      "target_name": "bind_device",
      "sources": ["bind_device.c"]
    }
  ]
}
