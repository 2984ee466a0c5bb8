"""What the tests share: servers on loopback, sample lakes, tiny inputs."""
