from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A customer or staff member. Customers sign up and log in with their e-mail."""

    email = models.EmailField("email address", unique=True)
